/* audit log: see audit.h */
#include "tv_err.h"
