"""The model layer: vision-language model, speech, on-screen text, embeddings (docs/architecture.md)."""
