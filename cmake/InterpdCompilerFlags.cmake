# Warnings and sanitizers for every interpd target (not for third-party code,
# which comes in as SYSTEM includes).
add_library(interpd_flags INTERFACE)
target_compile_options(interpd_flags INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
  -Wcast-align -Wunused -Woverloaded-virtual
  -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough
  # CPython's headers use old-style casts inside macros we expand.
  -Wno-old-style-cast
  # PyType_Slot / PyMethodDef tables are C structs filled positionally.
  -Wno-missing-field-initializers
  -Wno-cast-function-type)
# GCC 12 at -O3 (the Release build of scripts/run.sh) reports -Wrestrict
# on plain std::string concatenation inside libstdc++ (GCC bug 105329, fixed
# in 13): noise that would greet every user of the first README command.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  target_compile_options(interpd_flags INTERFACE -Wno-restrict)
endif()
if(INTERPD_WERROR)
  target_compile_options(interpd_flags INTERFACE -Werror)
endif()

if(INTERPD_SANITIZE STREQUAL "address")
  set(_san -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
elseif(INTERPD_SANITIZE STREQUAL "thread")
  # GCC warns (-Wtsan) that TSan does not model standalone fences; the
  # channel code and moodycamel use them and annotate what TSan must know.
  set(_san -fsanitize=thread -fno-omit-frame-pointer -Wno-tsan)
elseif(NOT INTERPD_SANITIZE STREQUAL "")
  message(FATAL_ERROR "INTERPD_SANITIZE must be '', 'address' or 'thread', not '${INTERPD_SANITIZE}'")
endif()
if(_san)
  target_compile_options(interpd_flags INTERFACE ${_san})
  target_link_options(interpd_flags INTERFACE ${_san})
endif()
