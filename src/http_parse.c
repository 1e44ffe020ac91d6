/* http_parse.c: placeholder until the module lands */
