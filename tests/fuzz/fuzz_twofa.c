/* fuzz_twofa.c - libFuzzer harness for what two-factor login reads from
 * users and the database: a code as typed (a TOTP code or a recovery
 * code) and a sealed secret. Besides never crashing: a normalised
 * recovery code is ten base32 letters and normalises to itself; a TOTP
 * match is 0 or a step of the window; and no input opens as a sealed
 * secret without the key. */
#include "fuzz.h"
#include "twofa.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char key[32] = { 1, 2, 3 };
	static const unsigned char seed[] = "12345678901234567890";
	unsigned char secret[TOTP_SECRET_BYTES];
	char *s = malloc(size + 1), norm[16], again[16];
	const long long now = 1111111111LL;
	long long step;
	size_t i;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (recovery_normalize(s, norm, sizeof(norm)) == 0) {
		CHECK(strlen(norm) == 10);
		for (i = 0; i < 10; i++)
			CHECK(strchr("abcdefghijklmnopqrstuvwxyz234567",
			    norm[i]) != NULL);
		CHECK(recovery_normalize(norm, again, sizeof(again)) == 0);
		CHECK(strcmp(norm, again) == 0);
	}
	step = totp_match(seed, 20, now, s, 0);
	CHECK(step == 0 || (totp_code_syntax(s) &&
	    step >= now / TOTP_STEP - 1 && step <= now / TOTP_STEP + 1));
	CHECK(twofa_open(key, 1, s, secret) == -1);
	free(s);
	return 0;
}
