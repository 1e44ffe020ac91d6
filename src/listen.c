/* listen.c: placeholder until the module lands */
