dsv4_add_test(dsv4_checkpoint_tests
  LABELS model
  SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/test_checkpoint.cpp
    ${CMAKE_CURRENT_LIST_DIR}/test_load_progress.cpp
    ${CMAKE_CURRENT_LIST_DIR}/test_safetensors_fixtures.cpp
    ${CMAKE_CURRENT_LIST_DIR}/test_safetensors_reader.cpp
    ${CMAKE_CURRENT_LIST_DIR}/test_safetensors_writer.cpp
  LIBS dsv4_model nlohmann_json::nlohmann_json)
