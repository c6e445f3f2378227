# Include-boundary enforcement. Module M's headers are included as "M/x.h". Each module
# gets its own include root under the build tree that contains only a link named M, and
# only targets that link M see that root. So `#include "server/x.h"` from src/model
# fails to compile, not merely to link: the dependency graph of DESIGN.md §1 holds for
# headers too.
function(dsv4_module target module_dir)
  get_filename_component(name ${module_dir} NAME)
  set(root ${CMAKE_BINARY_DIR}/include_roots/${name})
  file(MAKE_DIRECTORY ${root})
  if(NOT EXISTS ${root}/${name})
    file(CREATE_LINK ${module_dir} ${root}/${name} SYMBOLIC)
  endif()
  target_include_directories(${target} PUBLIC ${root})
  dsv4_set_warnings(${target})
endfunction()
