/* test_root.c: placeholder */
#include "check.h"
int main(void)
{
    return check_done();
}
