/* http_conn.c: placeholder until the module lands */
