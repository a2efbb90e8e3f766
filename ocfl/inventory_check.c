/* inventory_check.c: placeholder until its owner writes it. */
