/* worker.c: placeholder until the module lands */
