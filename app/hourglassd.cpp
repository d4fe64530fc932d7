#include <cstdio>
int main() { std::puts("hourglassd"); return 0; }
