/* master.c: placeholder until the module lands */
