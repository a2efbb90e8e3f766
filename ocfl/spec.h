/* spec.h: the versions of the OCFL spec ocflfs knows. */
#ifndef OCFL_SPEC_H
#define OCFL_SPEC_H

enum ocfl_spec {
    OCFL_SPEC_UNKNOWN = 0,
    OCFL_SPEC_1_0 = 10,
    OCFL_SPEC_1_1 = 11,
};

#endif
