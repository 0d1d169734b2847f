#ifndef ATLAS_CRYPTO_SHIMS_H
#define ATLAS_CRYPTO_SHIMS_H
/* Helpers for the Crypto module: OpenSSL macros Swift cannot import, and a PEM password
 * callback that refuses, so loading an encrypted PEM fails instead of prompting on a terminal. */
#include <stddef.h>
#include <openssl/bn.h>
#include <openssl/bio.h>

/* BN_num_bytes is a macro. */
int atlas_crypto_bn_num_bytes(const BIGNUM *number);
/* BIO_get_mem_data is a macro; returns the length and points *data at the BIO's bytes. */
long atlas_crypto_bio_mem_data(BIO *bio, const char **data);
/* A pem_password_cb that always fails (no passphrase, never prompts). */
int atlas_crypto_pem_no_password(char *buffer, int size, int rwflag, void *userdata);
#endif
