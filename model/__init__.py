"""The model layer: the backends for the vision-language model, speech, on-screen text, text
embeddings (``embeddings``) and what is seen (``vision``), each model an ``InferenceModel``
(``loading``), typed by ``protocols``; it uses only video_qa's timecode, config and media."""
