"""The blog's analyses over a recorded session: OOD grid, its history, transitions and
seed comparison. Headless (numpy, h5py; scipy only where needed), no torch."""
