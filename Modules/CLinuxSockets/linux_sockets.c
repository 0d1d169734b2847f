#ifdef __linux__
#define _GNU_SOURCE
#endif
#include "CLinuxSockets.h"

#ifdef __linux__
int atlas_accept4(int fd, struct sockaddr *address, socklen_t *length, int flags) {
    return accept4(fd, address, length, flags);
}
#endif
