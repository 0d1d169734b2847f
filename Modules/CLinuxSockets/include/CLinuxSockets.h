#ifndef ATLAS_CLINUXSOCKETS_H
#define ATLAS_CLINUXSOCKETS_H
/* HTTPServer: the Linux socket and event APIs that Swift's Glibc module does not export
 * (epoll, eventfd), and accept4, which needs _GNU_SOURCE, hence a wrapper. Empty elsewhere. */
#ifdef __linux__
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
int atlas_accept4(int fd, struct sockaddr *address, socklen_t *length, int flags);
#endif
#endif
