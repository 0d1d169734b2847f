#ifndef ATLAS_COPENSSLSHIMS_H
#define ATLAS_COPENSSLSHIMS_H
/* OpenSSL macros that Swift cannot import directly, wrapped as functions. Used by Crypto
 * (crypto_shims.h) and by HTTPServer's TLS transport (below). */
#include <stddef.h>
#include <openssl/ssl.h>
#include "crypto_shims.h"

/* OPENSSL_free is a macro. */
void atlas_openssl_free(void *pointer);
/* SSL_CTX_set_options / SSL_set_tlsext_host_name style helpers are macros. */
long atlas_ssl_ctx_set_min_tls12(SSL_CTX *context);
/* HTTPServer: SSL_CTX_set_mode is a macro; enables partial writes and moving write buffers
   so non-blocking SSL_write works with epoll. */
long atlas_ssl_ctx_set_nonblocking_modes(SSL_CTX *context);
/* HTTPClient: SSL_set_tlsext_host_name is a macro; sends the server name (SNI) in the ClientHello. */
long atlas_ssl_set_server_name(SSL *ssl, const char *name);
#endif
