/* inventory.c: placeholder until its owner writes it. */
