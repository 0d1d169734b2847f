#ifndef ATLAS_CCRYPTOSHIM_H
#define ATLAS_CCRYPTOSHIM_H
/* Functions wrapping OpenSSL macros that Swift cannot import directly. */
#include <stddef.h>
#include <openssl/ssl.h>
/* Crypto-module helpers live in their own header/source (crypto_shim.h / crypto_shim.c). */
#include "crypto_shim.h"

/* OPENSSL_free is a macro. */
void atlas_openssl_free(void *pointer);
/* SSL_CTX_set_options / SSL_set_tlsext_host_name style helpers are macros. */
long atlas_ssl_ctx_set_min_tls12(SSL_CTX *context);
/* HTTPServer: SSL_CTX_set_mode is a macro; enables partial writes and moving write buffers
   so non-blocking SSL_write works with epoll. */
long atlas_ssl_ctx_set_nonblocking_modes(SSL_CTX *context);

/* HTTPServer: Linux event APIs that Swift's Glibc module does not export (this is the only C
   shim target in the package, so they live here). accept4 needs _GNU_SOURCE, hence a wrapper. */
#ifdef __linux__
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
int atlas_accept4(int fd, struct sockaddr *address, socklen_t *length, int flags);
#endif
#endif
