"""Semantic filtering and classification by a prompted VLM, shared by the video and image flows.

`categories` holds the default category lists and reads user lists, `prompts` asks the
model about categories, `answers` reads its answers and decides per clip or image from its
windows' answers. Nothing here runs a model: the pipelines bring their own backend.
"""
