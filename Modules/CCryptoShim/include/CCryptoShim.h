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
#endif
