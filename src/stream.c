/* stream.c: placeholder until the module lands */
