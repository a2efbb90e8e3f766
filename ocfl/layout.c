/* layout.c: placeholder until its owner writes it. */
