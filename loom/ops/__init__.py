"""``loom.ops``: Keras 3's ``keras.ops`` namespace on torch tensors."""
