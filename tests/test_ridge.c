/* test_ridge.c — placeholder until the ridge path lands. */
int main(void)
{
    return 0;
}
