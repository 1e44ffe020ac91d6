/* xlate_req.c: placeholder until the module lands */
