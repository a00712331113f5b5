"""Data sets of the benchmark: MNIST and the generated variations of Larochelle et al. (ICML 2007).

Pure generators (no I/O, randomness from a ``numpy.random.Generator`` argument): ``rectangles``,
``convex``, ``variations`` (rotations, backgrounds), ``natural_images`` (background patches).
Files are read and written only by ``io``. Import the submodules directly.
"""
