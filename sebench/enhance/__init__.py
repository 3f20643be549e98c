"""Enhancement with trained models: input resolution, chunked inference, packing."""
