/* models.c: placeholder until the module lands */
