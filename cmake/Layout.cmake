# The layers' dependency rules (docs/design.md). target_link_libraries states what each layer may
# use; since every third-party header lives in /usr/include, a layer also gets, first on its
# include path, a "poison" header for each header of the libraries it must not use, so including
# one stops the build with a message naming the rule. A generated source includes every public
# header of the layer, so header-only violations are caught too.

# The headers of each library, relative to its include directory.
function(_aiusage_library_headers out library)
  set(found "")
  if(library STREQUAL "civetweb")
    set(found civetweb.h CivetServer.h)
  elseif(library STREQUAL "sqlite")
    find_path(_aiu_dir SQLiteCpp/SQLiteCpp.h)
    file(GLOB_RECURSE found RELATIVE ${_aiu_dir} ${_aiu_dir}/SQLiteCpp/*.h)
    list(APPEND found sqlite3.h sqlite3ext.h)
  elseif(library STREQUAL "prometheus")
    find_path(_aiu_dir prometheus/collectable.h)
    file(GLOB_RECURSE found RELATIVE ${_aiu_dir} ${_aiu_dir}/prometheus/*.h)
  elseif(library STREQUAL "json")
    find_path(_aiu_dir rapidjson/document.h)
    file(GLOB_RECURSE found RELATIVE ${_aiu_dir} ${_aiu_dir}/rapidjson/*.h ${_aiu_dir}/nlohmann/*.hpp)
    list(APPEND found simdjson.h)
  elseif(library STREQUAL "toml")
    find_path(_aiu_dir toml++/toml.h)
    file(GLOB_RECURSE found RELATIVE ${_aiu_dir} ${_aiu_dir}/toml++/*.h ${_aiu_dir}/toml++/*.hpp)
  elseif(library STREQUAL "openssl")
    find_path(_aiu_dir openssl/evp.h)
    file(GLOB_RECURSE found RELATIVE ${_aiu_dir} ${_aiu_dir}/openssl/*.h)
  else()
    message(FATAL_ERROR "aiusage_layer: unknown library ${library}")
  endif()
  unset(_aiu_dir CACHE)
  set(${out} ${found} PARENT_SCOPE)
endfunction()

# aiusage_layer(<target> <folder> REASON <why> FORBID <library>...): applies the rules above to
# <target>, whose sources and include/ live in <folder> (relative to the project).
function(aiusage_layer target folder)
  cmake_parse_arguments(PARSE_ARGV 2 L "" "REASON" "FORBID")
  set(poison ${PROJECT_BINARY_DIR}/layout/poison/${target})
  foreach(library IN LISTS L_FORBID)
    _aiusage_library_headers(headers ${library})
    foreach(h IN LISTS headers)
      file(CONFIGURE OUTPUT ${poison}/${h} CONTENT
        "#error \"${folder} must not include <${h}>: ${L_REASON} (docs/design.md)\"\n")
    endforeach()
  endforeach()
  target_include_directories(${target} BEFORE PRIVATE ${poison})
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
  file(GLOB public RELATIVE ${PROJECT_SOURCE_DIR}/${folder}/include CONFIGURE_DEPENDS
       ${PROJECT_SOURCE_DIR}/${folder}/include/aiusage/*.hpp)
  set(check "// Generated: every public header of ${folder}, compiled under its rules.\n")
  foreach(h IN LISTS public)
    string(APPEND check "#include \"${h}\"\n")
  endforeach()
  file(CONFIGURE OUTPUT ${PROJECT_BINARY_DIR}/layout/${target}_headers.cpp CONTENT "${check}")
  target_sources(${target} PRIVATE ${PROJECT_BINARY_DIR}/layout/${target}_headers.cpp)
endfunction()

# aiusage_layer_probe(<test> <target> <include> [ALLOWED]): a test that a source of <target>
# including <include> fails to build with the rule's message (ALLOWED: builds); the probe is
# compiled with <target>'s own include path, options and definitions, outside `all`.
function(aiusage_layer_probe test target include)
  set(source ${PROJECT_BINARY_DIR}/layout/${test}.cpp)
  file(CONFIGURE OUTPUT ${source} CONTENT "#include <${include}>\n")
  add_library(${test} OBJECT EXCLUDE_FROM_ALL ${source})
  target_include_directories(${test} PRIVATE $<TARGET_PROPERTY:${target},INCLUDE_DIRECTORIES>)
  target_compile_options(${test} PRIVATE $<TARGET_PROPERTY:${target},COMPILE_OPTIONS>)
  target_compile_definitions(${test} PRIVATE $<TARGET_PROPERTY:${target},COMPILE_DEFINITIONS>)
  # Never through ccache: its direct mode misses a poison header that newly shadows the real one.
  set_target_properties(${test} PROPERTIES CXX_COMPILER_LAUNCHER "")
  add_test(NAME ${test} COMMAND ${CMAKE_COMMAND} --build ${PROJECT_BINARY_DIR} --target ${test})
  set_tests_properties(${test} PROPERTIES LABELS layout)
  if(NOT ARGV3 STREQUAL "ALLOWED")
    string(REPLACE "+" "\\+" pattern "must not include <${include}>")
    set_tests_properties(${test} PROPERTIES PASS_REGULAR_EXPRESSION "${pattern}")
  endif()
endfunction()
