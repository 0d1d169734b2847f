import Kernel
print("atlas")
