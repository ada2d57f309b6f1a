#include <iostream>
#include <string>
int main() { std::string who = "c++"; std::cout << "hello from " << who << std::endl; return 0; }
