/* messages.c: placeholder until the module lands */
