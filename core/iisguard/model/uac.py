"""Active Directory account flags: userAccountControl bits (MS-ADTS 2.2.16) and encryption types."""

from __future__ import annotations

ACCOUNTDISABLE = 0x2
PASSWD_NOTREQD = 0x20
ENCRYPTED_TEXT_PWD_ALLOWED = 0x80
SERVER_TRUST_ACCOUNT = 0x2000  # a domain controller's computer account
DONT_EXPIRE_PASSWORD = 0x10000
TRUSTED_FOR_DELEGATION = 0x80000
NOT_DELEGATED = 0x100000
USE_DES_KEY_ONLY = 0x200000
DONT_REQ_PREAUTH = 0x400000
TRUSTED_TO_AUTH_FOR_DELEGATION = 0x1000000

# msDS-SupportedEncryptionTypes bits.
ENC_DES = 0x1 | 0x2
ENC_RC4 = 0x4
ENC_AES = 0x8 | 0x10
