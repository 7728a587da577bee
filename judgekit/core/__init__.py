"""The nouns and the data path every judge shares.

Types, errors, input loading, prompt templates, verdict formats, aggregation, the
call cache, the runner and the backend protocol it calls. Nothing here imports
another judgekit package: protocols, backends and the rest depend on ``core``.
"""
