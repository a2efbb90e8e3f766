/* validate_object.c: placeholder until its owner writes it. */
