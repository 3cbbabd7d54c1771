// Sanitizer defaults for the interpd binary in sanitizer builds (the same
// as the test binaries'); nothing in others.
#include "interpd/sanitizer_defaults.h"
