/* inventory_serialize.c: placeholder until its owner writes it. */
