"""`video-split`: cut videos into clips, transcode, filter, embed, caption and write them.

`pipeline` holds the options and the run; `builders` and `filter_builders` turn options into
stages. Helpers shared with other pipelines (decoding, frames, captioning, embedding, layout,
storage, tasks) stay in `pipelines/video/`.
"""
