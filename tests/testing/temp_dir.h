// A fresh temporary directory per test, removed on destruction.
#ifndef QUOTAD_TESTS_TESTING_TEMP_DIR_H_
#define QUOTAD_TESTS_TESTING_TEMP_DIR_H_

#include <string>

namespace quotad::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Reads a whole file (binary-safe); empty if missing.
std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& contents);

}  // namespace quotad::testing

#endif  // QUOTAD_TESTS_TESTING_TEMP_DIR_H_
