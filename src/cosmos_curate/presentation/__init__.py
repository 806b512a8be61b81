"""What a user sees of a run: formatting of numbers and errors, and the progress view.

Used by the runtime (`run_pipeline(show_progress=True)`) and by the CLI alike, so it imports
neither of them (nor Ray): only `core.interfaces` records, rich and the standard library.
"""
