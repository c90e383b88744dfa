"""Speed benchmarks of gan_jax against equivalent PyTorch eager implementations (`python -m benchmarks.run`)."""
