"""決定の取消 (article 17(1)): what was cancelled of an award's 交付決定額, when and why; the cause of a
refund (18(2) overpayment — every existing refund — or 18(1) after a cancellation); the
cancellation letter's kind."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('grants', '0007_award_lifecycle_data'),
    ]

    operations = [
        migrations.AddField(
            model_name='award',
            name='cancel_reason',
            field=models.TextField(blank=True, verbose_name='reason for the cancellation'),
        ),
        migrations.AddField(
            model_name='award',
            name='cancelled_amount',
            field=models.PositiveBigIntegerField(default=0, verbose_name='amount cancelled (yen)'),
        ),
        migrations.AddField(
            model_name='award',
            name='cancelled_on',
            field=models.DateField(blank=True, null=True, verbose_name='grant decision cancelled on (取消)'),
        ),
        migrations.AddField(
            model_name='refund',
            name='cause',
            field=models.CharField(choices=[('overpayment', 'Paid above the confirmed amount (article 18(2))'), ('cancellation', 'Grant decision cancelled (articles 17(1), 18(1))')], default='overpayment', max_length=12, verbose_name='cause'),
        ),
        migrations.AlterField(
            model_name='letter',
            name='kind',
            field=models.CharField(choices=[('grant_decision', 'Notice of grant decision (交付決定通知書)'), ('change_approved', 'Notice of change approval (変更承認通知書)'), ('change_refused', 'Notice of change refusal (変更不承認通知書)'), ('confirmation', 'Notice of the confirmed amount (額の確定通知書)'), ('refund_order', 'Order to return (返還命令書)'), ('promoted', 'Notice of adoption from the reserve list (繰上げ採択通知書)'), ('reserve_closed', 'Notice that the reserve list is closed (補欠解除通知書)'), ('cancellation', 'Notice of cancellation of the grant decision (交付決定取消通知書)')], max_length=20, verbose_name='kind'),
        ),
    ]
