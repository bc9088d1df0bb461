"""Running: the batch over every authority, its run folders, and what each run was made from."""
