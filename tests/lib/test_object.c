/* test_object.c: placeholder */
#include "check.h"
int main(void)
{
    return check_done();
}
