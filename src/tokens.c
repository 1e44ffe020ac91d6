/* tokens.c: placeholder until the module lands */
