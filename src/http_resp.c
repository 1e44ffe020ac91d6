/* http_resp.c: placeholder until the module lands */
