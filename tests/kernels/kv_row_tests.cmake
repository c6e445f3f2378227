# The compact KV-row codecs (kernels/include/dsv4k/kv_row.h): the scalar references
# (layouts, losslessness for simulated rows, edge blocks), the AVX-512 versions bit for bit
# against them (x86-64 only; they skip at run time without the ISA), the backend ops in
# the four row formats, and the ops that turn the indexer's selection into rows to decode.
# Sources are named through CMAKE_CURRENT_LIST_DIR so that this fragment can be included
# from anywhere.
set(DSV4_KV_ROW_TEST_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/test_kv_row_ref.cpp
  ${CMAKE_CURRENT_LIST_DIR}/test_kv_row_backend.cpp
  ${CMAKE_CURRENT_LIST_DIR}/test_selected_rows_backend.cpp)
if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
  list(APPEND DSV4_KV_ROW_TEST_SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_kv_row_fast.cpp)
endif()
dsv4_add_test(dsv4_kv_row_tests
  LABELS kernels
  SOURCES ${DSV4_KV_ROW_TEST_SOURCES}
  LIBS dsv4_kernels dsv4_backend)
