# Finds a CPython >= 3.12 that can be embedded (headers + libpython) and
# defines the imported target Python3::Python through FindPython3.
#
# Why a discovery step in front of FindPython3: Debian 12's own python3 is
# 3.11 (no per-interpreter GIL), and pyenv puts *shims* for every version on
# PATH that exist but fail for versions that are not active. FindPython3 on
# its own happily picks the system 3.11 or a broken shim. So we look for a
# working prefix ourselves, in this order, and hand it to FindPython3:
#   1. -DPython3_ROOT_DIR=... or -DINTERPD_PYTHON_PREFIX=... (the user knows best)
#   2. python3.13-config, python3.12-config on PATH (only if `--prefix` works)
#   3. pyenv's versions ($PYENV_ROOT, `pyenv root`, ~/.pyenv), newest first
# INTERPD_PYTHON_VERSION=3.12 restricts the search to one minor version.
#
# Sets INTERPD_PYTHON_PREFIX (cache) and INTERPD_PYTHON_HOME (the prefix the
# runtime uses as PyConfig.home to find its standard library at run time).

set(INTERPD_PYTHON_VERSION "" CACHE STRING "Only accept this CPython minor version (e.g. 3.12); empty: 3.13, then 3.12, then newer")
set(_interpd_min_minor 12)

function(_interpd_prefix_ok prefix out_minor)
  set(${out_minor} "" PARENT_SCOPE)
  if(NOT IS_DIRECTORY "${prefix}/include")
    return()
  endif()
  file(GLOB _headers "${prefix}/include/python3.*/Python.h")
  set(_best "")
  foreach(h IN LISTS _headers)
    if(h MATCHES "python3\\.([0-9]+)t?/Python.h$")
      set(_m "${CMAKE_MATCH_1}")
      if(_m GREATER_EQUAL _interpd_min_minor)
        if(INTERPD_PYTHON_VERSION AND NOT INTERPD_PYTHON_VERSION STREQUAL "3.${_m}")
          continue()
        endif()
        # An embeddable build has libpython (shared or static) next to it.
        file(GLOB _libs "${prefix}/lib/libpython3.${_m}*.so" "${prefix}/lib/libpython3.${_m}*.a"
                        "${prefix}/lib/*/libpython3.${_m}*.so")
        if(_libs AND (_best STREQUAL "" OR _m GREATER _best))
          set(_best "${_m}")
        endif()
      endif()
    endif()
  endforeach()
  set(${out_minor} "${_best}" PARENT_SCOPE)
endfunction()

set(_interpd_candidates "")
set(_interpd_tried "")

if(Python3_ROOT_DIR)
  list(APPEND _interpd_candidates "${Python3_ROOT_DIR}")
endif()
if(INTERPD_PYTHON_PREFIX)
  list(APPEND _interpd_candidates "${INTERPD_PYTHON_PREFIX}")
endif()

if(NOT _interpd_candidates)
  if(INTERPD_PYTHON_VERSION)
    set(_cfg_names "python${INTERPD_PYTHON_VERSION}-config")
  else()
    set(_cfg_names python3.13-config python3.12-config)
  endif()
  foreach(cfg IN LISTS _cfg_names)
    find_program(_interpd_cfg_${cfg} NAMES ${cfg} NO_CACHE)
    if(_interpd_cfg_${cfg})
      execute_process(COMMAND "${_interpd_cfg_${cfg}}" --prefix
        RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_QUIET OUTPUT_STRIP_TRAILING_WHITESPACE)
      list(APPEND _interpd_tried "${cfg} (${_interpd_cfg_${cfg}}): rc=${_rc}")
      if(_rc EQUAL 0 AND _out)
        list(APPEND _interpd_candidates "${_out}")
      endif()
    endif()
  endforeach()

  # pyenv: its versions directory, newest version first.
  set(_pyenv_root "$ENV{PYENV_ROOT}")
  if(NOT _pyenv_root)
    find_program(_interpd_pyenv pyenv NO_CACHE)
    if(_interpd_pyenv)
      execute_process(COMMAND "${_interpd_pyenv}" root RESULT_VARIABLE _rc
        OUTPUT_VARIABLE _pyenv_root ERROR_QUIET OUTPUT_STRIP_TRAILING_WHITESPACE)
      if(NOT _rc EQUAL 0)
        set(_pyenv_root "")
      endif()
    endif()
  endif()
  if(NOT _pyenv_root AND EXISTS "$ENV{HOME}/.pyenv")
    set(_pyenv_root "$ENV{HOME}/.pyenv")
  endif()
  if(_pyenv_root AND IS_DIRECTORY "${_pyenv_root}/versions")
    file(GLOB _vers RELATIVE "${_pyenv_root}/versions" "${_pyenv_root}/versions/3.*")
    # Plain CPython releases only (3.X.Y), sorted newest first.
    list(FILTER _vers INCLUDE REGEX "^3\\.[0-9]+\\.[0-9]+$")
    list(SORT _vers COMPARE NATURAL ORDER DESCENDING)
    # Preference among minors: 3.13 (the reference), 3.12, then anything newer.
    set(_ordered "")
    foreach(pref 13 12)
      foreach(v IN LISTS _vers)
        if(v MATCHES "^3\\.${pref}\\.")
          list(APPEND _ordered "${_pyenv_root}/versions/${v}")
        endif()
      endforeach()
    endforeach()
    foreach(v IN LISTS _vers)
      if(v MATCHES "^3\\.([0-9]+)\\." AND CMAKE_MATCH_1 GREATER 13)
        list(APPEND _ordered "${_pyenv_root}/versions/${v}")
      endif()
    endforeach()
    list(APPEND _interpd_candidates ${_ordered})
    list(APPEND _interpd_tried "pyenv versions under ${_pyenv_root}/versions: ${_vers}")
  endif()
endif()

set(_interpd_prefix "")
set(_interpd_minor "")
foreach(p IN LISTS _interpd_candidates)
  _interpd_prefix_ok("${p}" _m)
  if(_m)
    set(_interpd_prefix "${p}")
    set(_interpd_minor "${_m}")
    break()
  endif()
  list(APPEND _interpd_tried "${p}: no CPython >= 3.${_interpd_min_minor} headers + libpython")
endforeach()

if(NOT _interpd_prefix)
  if(NOT _interpd_tried)
    set(_interpd_tried "no python3.13-config or python3.12-config on PATH, and no pyenv installation")
  endif()
  list(JOIN _interpd_tried "\n    " _tried_text)
  message(FATAL_ERROR
    "interpd needs CPython 3.12 or newer with its headers and libpython (an embeddable build);\n"
    "none was found. Looked at:\n    ${_tried_text}\n"
    "Debian 12 ships only Python 3.11, which has no per-interpreter GIL. To get one:\n"
    "  * with pyenv:  env PYTHON_CONFIGURE_OPTS=--enable-shared pyenv install 3.13\n"
    "  * from source: ./configure --enable-shared --prefix=/opt/python3.13 && make -j && make install,\n"
    "                 then put /opt/python3.13/bin on PATH (python3.13-config is looked for there)\n"
    "  * or point at any prefix: cmake -DPython3_ROOT_DIR=/path/to/prefix ...")
endif()

set(Python3_ROOT_DIR "${_interpd_prefix}")
set(Python3_FIND_STRATEGY LOCATION)
set(Python3_FIND_REGISTRY NEVER)
set(Python3_FIND_VIRTUALENV STANDARD)
set(Python3_EXECUTABLE "${_interpd_prefix}/bin/python3.${_interpd_minor}")
find_package(Python3 3.${_interpd_minor} EXACT REQUIRED COMPONENTS Interpreter Development.Embed)

set(INTERPD_PYTHON_PREFIX "${_interpd_prefix}" CACHE PATH "CPython prefix interpd embeds" FORCE)
# The runtime sets PyConfig.home to this, so it finds its stdlib without PYTHONHOME.
execute_process(COMMAND "${Python3_EXECUTABLE}" -c "import sys; print(sys.base_prefix)"
  OUTPUT_VARIABLE INTERPD_PYTHON_HOME OUTPUT_STRIP_TRAILING_WHITESPACE)
message(STATUS "interpd: embedding CPython ${Python3_VERSION} from ${INTERPD_PYTHON_PREFIX} (home ${INTERPD_PYTHON_HOME})")
