/*
 * worker: a forked process that accepts connections on the shared socket
 * and serves them one at a time, with keep-alive.
 */
#ifndef CP_WORKER_H
#define CP_WORKER_H

/* board: the worker's scoreboard slot (-1 = none) */
__attribute__((noreturn)) void worker_main(int listen_fd, int board);

#endif
